// issue 19, acceptance 3: openid-client (not used by the platform) completes a corporate login
// (scope "openid corpid", the OIDC claims parameter naming the service) with a client secret and
// PKCE, validates the ID token and reads the organisation's `authority` claim from it and from
// userinfo; after the test revokes the mandate, the next userinfo call is refused.
//
// Protocol over stdin/stdout, one JSON object per line:
//   in:  {"issuer", "client_id", "client_secret", "redirect_uri", "service"}
//   out: {"authorization_url"}
//   in:  {"callback"}            (the URL the platform redirected the browser to)
//   out: {"id_token_claims", "userinfo"}
//   in:  {"again": true}         (after the mandate was revoked)
//   out: {"refused": {"error", "status"}} or {"userinfo_again"}
import * as client from 'openid-client'
import { createInterface } from 'node:readline'

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
const read = async () => JSON.parse((await lines.next()).value)
const write = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

try {
  const job = await read()
  const config = await client.discovery(
    new URL(job.issuer),
    job.client_id,
    { id_token_signed_response_alg: 'ES256' },
    client.ClientSecretBasic(job.client_secret),
    { execute: [client.allowInsecureRequests] },
  )
  const code_verifier = client.randomPKCECodeVerifier()
  const code_challenge = await client.calculatePKCECodeChallenge(code_verifier)
  const state = client.randomState()
  const nonce = client.randomNonce()
  const authority = { essential: true, service: job.service }
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: job.redirect_uri,
    scope: 'openid corpid',
    claims: JSON.stringify({ userinfo: { authority }, id_token: { authority } }),
    code_challenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  })
  write({ authorization_url: url.href })

  const { callback } = await read()
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: code_verifier,
    expectedState: state,
    expectedNonce: nonce,
  })
  const claims = tokens.claims()
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
  write({ id_token_claims: claims, userinfo })

  await read()
  try {
    const again = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
    write({ userinfo_again: again })
  } catch (err) {
    // openid-client reports a 401 by its WWW-Authenticate challenge (RFC 6750 §3)
    const challenge = Array.isArray(err.cause) ? err.cause[0] : undefined
    const error = (challenge && challenge.parameters && challenge.parameters.error) || err.error || err.code
    write({ refused: { error, code: err.code, status: err.status } })
  }
} catch (err) {
  write({ error: String(err), code: err.code, cause: err.cause ? String(JSON.stringify(err.cause)) : undefined })
  process.exitCode = 1
}
