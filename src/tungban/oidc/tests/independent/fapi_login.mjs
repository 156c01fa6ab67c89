// issue 13, acceptance 2: openid-client (not used by the platform) logs in to a FAPI 2.0
// client with PAR + private_key_jwt + DPoP + a signed request object, checks `iss` in the
// authorization response, reads userinfo with the DPoP-bound access token and refreshes it.
//
// Protocol over stdin/stdout, one JSON object per line:
//   in:  {"issuer", "client_id", "redirect_uri", "scope", "private_jwk"}
//   out: {"authorization_url"}
//   in:  {"callback"}            (the URL the platform redirected the browser to)
//   out: {"iss", "token_type", "access_token", "sub", "userinfo", "refreshed": {...}, "userinfo_after_refresh"}
import * as client from 'openid-client'
import { createInterface } from 'node:readline'

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()
const read = async () => JSON.parse((await lines.next()).value)
const write = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

try {
  const job = await read()
  const { d, ...pub } = job.private_jwk
  const signingKey = {
    key: await crypto.subtle.importKey('jwk', job.private_jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']),
    kid: pub.kid,
  }
  const config = await client.discovery(
    new URL(job.issuer),
    job.client_id,
    { id_token_signed_response_alg: 'ES256' },
    client.PrivateKeyJwt(signingKey),
    { execute: [client.allowInsecureRequests] },
  )
  const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
  const code_verifier = client.randomPKCECodeVerifier()
  const code_challenge = await client.calculatePKCECodeChallenge(code_verifier)
  const state = client.randomState()
  const { searchParams } = await client.buildAuthorizationUrlWithJAR(
    config,
    { redirect_uri: job.redirect_uri, scope: job.scope, code_challenge, code_challenge_method: 'S256', state },
    signingKey,
  )
  const authorizationUrl = await client.buildAuthorizationUrlWithPAR(config, searchParams, { DPoP })
  write({ authorization_url: authorizationUrl.href, pushed_request: searchParams.has('request') })

  const { callback } = await read()
  const callbackUrl = new URL(callback)
  const tokens = await client.authorizationCodeGrant(
    config,
    callbackUrl,
    { pkceCodeVerifier: code_verifier, expectedState: state },
    undefined,
    { DPoP },
  )
  const sub = tokens.claims().sub
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, sub, { DPoP })
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, undefined, { DPoP })
  const userinfoAfterRefresh = await client.fetchUserInfo(config, refreshed.access_token, sub, { DPoP })
  write({
    iss: callbackUrl.searchParams.get('iss'),
    token_type: tokens.token_type,
    access_token: tokens.access_token,
    sub,
    userinfo,
    refreshed: { token_type: refreshed.token_type, access_token: refreshed.access_token },
    userinfo_after_refresh: userinfoAfterRefresh,
  })
} catch (err) {
  write({ error: String(err), code: err.code, cause: err.cause ? String(JSON.stringify(err.cause)) : undefined })
  process.exitCode = 1
}
