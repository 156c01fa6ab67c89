// The peer OpenID provider of the benchmarks: oidc-provider (panva, OpenID Certified) with our
// PostgreSQL adapter (adapter.mjs), configured as close to tungban as oidc-provider allows.
// Driven by bench/peer.py; see its docstring for how it compares with tungban.
//
//   node server.mjs setup   env PEER_DATABASE_URL, PEER_ISSUER, PEER_ACCOUNTS, PEER_REFRESH_TOKENS,
//                           PEER_ACCESS_TOKENS (optional PEER_SCOPE, PEER_MINTED_ACCESS_TOKEN_TTL)
//       (Re)creates the tables, empties them, generates the signing key, the client and the
//       accounts, mints tokens and prints one JSON object on stdout.
//   node server.mjs serve   env PEER_DATABASE_URL, PEER_ISSUER, PEER_PORT, PEER_WORKERS
//                           (optional PEER_POOL_SIZE: connections per worker, default 5)
//       The primary forks PEER_WORKERS workers (node:cluster) listening on 127.0.0.1:PEER_PORT;
//       SIGTERM or SIGINT stops them all. Nothing is logged per request.

import cluster from 'node:cluster';
import * as crypto from 'node:crypto';
import * as http from 'node:http';

import PostgresAdapter, { SCHEMA, connect } from './adapter.mjs';

process.env.NODE_ENV ||= 'production'; // read by Koa when the provider is built (no dev behaviour)

const SCOPE = process.env.PEER_SCOPE || 'openid profile offline_access';
const CLIENT_CREDENTIALS_SCOPES = ['api'];

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set`);
  }
  return value;
}

function intEnv(name, fallback) {
  const value = Number.parseInt(env(name, fallback === undefined ? undefined : String(fallback)), 10);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
}

const TABLES = `
${SCHEMA}
CREATE TABLE IF NOT EXISTS peer_account (id text PRIMARY KEY, claims jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS peer_config (key text PRIMARY KEY, value jsonb NOT NULL);
`;

// --- provider configuration (shared by setup, which mints through the models, and serve) ------

function providerConfiguration({ jwk, client, pairwiseSecret, cookieKeys }, pool) {
  const { kid, kty, crv, x, y, d } = jwk;
  return {
    adapter: PostgresAdapter,
    clients: [client],
    jwks: { keys: [{ kid, kty, crv, x, y, d, alg: 'ES256', use: 'sig' }] },
    cookies: { keys: cookieKeys },

    // userinfo (and the refresh grant) read the account from PostgreSQL: one query, as tungban
    // reads the resident.
    async findAccount(ctx, id) {
      const { rows } = await pool.query({
        name: 'peer_account',
        text: 'SELECT claims FROM peer_account WHERE id = $1',
        values: [id],
      });
      if (!rows.length) return undefined;
      const stored = rows[0].claims;
      return { accountId: id, claims: async () => ({ ...stored, sub: id }) };
    },
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'birthdate', 'gender'],
      address: ['address'],
      phone: ['phone_number', 'phone_number_verified'],
      email: ['email', 'email_verified'],
    },
    scopes: ['openid', 'offline_access', ...CLIENT_CREDENTIALS_SCOPES],

    // Pairwise subjects only. Here the identifier is computed (HMAC-SHA256 of the sector and the
    // account with a secret made at set-up); tungban keeps a random identifier per resident and
    // sector as a database row, so it reads one where this computes one.
    subjectTypes: ['pairwise'],
    async pairwiseIdentifier(ctx, accountId, forClient) {
      return crypto.createHmac('sha256', pairwiseSecret)
        .update(`${forClient.sectorIdentifier}\n${accountId}`)
        .digest('base64url');
    },

    pkce: { required: () => true }, // S256 is the only method oidc-provider 9 offers
    // the response types, client authentication methods and algorithms tungban's discovery lists
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt'],
    enabledJWA: {
      idTokenSigningAlgValues: ['ES256'],
      clientAuthSigningAlgValues: ['ES256', 'PS256', 'RS256'],
    },
    rotateRefreshToken: true, // a refresh token is used once, as tungban's

    // tungban's lifetimes (settings.py: TUNGBAN_ACCESS_TOKEN_TTL, TUNGBAN_CODE_TTL, ...)
    ttl: {
      AccessToken: 600,
      ClientCredentials: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      RefreshToken: 30 * 24 * 3600,
      Grant: 30 * 24 * 3600,
      Session: 24 * 3600,
      Interaction: 600,
    },

    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      dPoP: { enabled: false }, // tungban has neither DPoP nor PAR
      pushedAuthorizationRequests: { enabled: false },
      userinfo: { enabled: true },
      revocation: {
        enabled: true,
        // the default policy (a client revokes only its own tokens), given so no notice is printed
        async allowedPolicy(ctx, revokingClient, token) {
          return token.clientId === revokingClient.clientId;
        },
      },
    },
    // (access tokens stay opaque, the default format: rows in oidc_payload, as tungban's are rows)

    clientBasedCORS: () => false,
    async renderError(ctx, out) {
      ctx.type = 'json';
      ctx.body = out;
    },
  };
}

async function loadProvider() {
  // oidc-provider prints its start-up notices with console.info; keep stdout for our JSON.
  console.info = (...args) => console.error(...args);
  return (await import('oidc-provider')).default;
}

async function readConfig(pool) {
  const { rows } = await pool.query('SELECT key, value FROM peer_config');
  const config = Object.fromEntries(rows.map(({ key, value }) => [key, value]));
  for (const key of ['jwk', 'client', 'pairwiseSecret', 'cookieKeys']) {
    if (!(key in config)) throw new Error(`peer_config has no ${key}: run "node server.mjs setup" first`);
  }
  return config;
}

// --- setup ------------------------------------------------------------------------------------

const GIVEN = {
  male: ['Chi Keung', 'Ka Ming', 'Wai Lun', 'Siu Fung', 'Tsz Hin', 'Kwok Wai', 'Ho Yin', 'Man Kit', 'Chun Hei', 'Yiu Wah'],
  female: ['Mei Ling', 'Wing Yan', 'Hoi Ching', 'Suet Ying', 'Ka Yan', 'Pui Shan', 'Lok Yee', 'Sze Wan', 'Hiu Tung', 'Yuen Ting'],
};
const FAMILY = ['Chan', 'Wong', 'Lee', 'Cheung', 'Lau', 'Ho', 'Ng', 'Leung', 'Tam', 'Yip', 'Lam', 'Tsang', 'Chow', 'Kwok', 'Mak', 'Fung'];
const STREETS = [
  ['Nathan Road', 'Yau Tsim Mong', 'Kowloon'], ['Hennessy Road', 'Wan Chai', 'Hong Kong Island'],
  ["Queen's Road Central", 'Central and Western', 'Hong Kong Island'], ['Castle Peak Road', 'Tsuen Wan', 'New Territories'],
  ['Tai Po Road', 'Sham Shui Po', 'Kowloon'], ['Sha Tin Centre Street', 'Sha Tin', 'New Territories'],
  ['King\'s Road', 'Eastern', 'Hong Kong Island'], ['Kwun Tong Road', 'Kwun Tong', 'Kowloon'],
];

function pick(list) {
  return list[crypto.randomInt(list.length)];
}

function syntheticClaims() {
  const gender = crypto.randomInt(2) ? 'female' : 'male';
  const given = pick(GIVEN[gender]);
  const family = pick(FAMILY);
  const year = 1940 + crypto.randomInt(66);
  const month = String(1 + crypto.randomInt(12)).padStart(2, '0');
  const day = String(1 + crypto.randomInt(28)).padStart(2, '0');
  const [street, locality, region] = pick(STREETS);
  const streetAddress = `Flat ${String.fromCharCode(65 + crypto.randomInt(8))}, ${1 + crypto.randomInt(40)}/F, ${1 + crypto.randomInt(700)} ${street}`;
  const phone = `+852 ${pick(['5', '6', '9'])}${String(crypto.randomInt(10_000_000)).padStart(7, '0')}`;
  return {
    name: `${family} ${given}`,
    given_name: given,
    family_name: family,
    birthdate: `${year}-${month}-${day}`,
    gender,
    address: {
      formatted: `${streetAddress}, ${locality}, ${region}, Hong Kong`,
      street_address: streetAddress,
      locality,
      region,
      country: 'HK',
    },
    phone_number: phone,
    phone_number_verified: true,
    email: `${given.toLowerCase().replace(' ', '.')}.${family.toLowerCase()}${crypto.randomInt(10_000)}@example.hk`,
    email_verified: crypto.randomInt(4) !== 0,
  };
}

function generateKey() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  // RFC 7638 thumbprint as the kid
  const kid = crypto.createHash('sha256')
    .update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }))
    .digest('base64url');
  return { kid, ...jwk, alg: 'ES256', use: 'sig' };
}

async function inBatches(total, size, make) {
  for (let start = 0; start < total; start += size) {
    const count = Math.min(size, total - start);
    await Promise.all(Array.from({ length: count }, (_, i) => make(start + i)));
  }
}

async function setup() {
  const databaseUrl = env('PEER_DATABASE_URL');
  const issuer = env('PEER_ISSUER');
  const accounts = intEnv('PEER_ACCOUNTS');
  const refreshTokens = intEnv('PEER_REFRESH_TOKENS', 0);
  const accessTokens = intEnv('PEER_ACCESS_TOKENS', 0);
  const mintedAccessTokenTtl = intEnv('PEER_MINTED_ACCESS_TOKEN_TTL', 600);
  if (accounts < 1 && refreshTokens + accessTokens > 0) throw new Error('tokens need at least one account');

  const Provider = await loadProvider();
  const pool = connect(databaseUrl, 10);
  await pool.query(TABLES);
  await pool.query('TRUNCATE oidc_payload, peer_account, peer_config');

  const client = {
    client_id: crypto.randomBytes(16).toString('base64url'),
    client_secret: crypto.randomBytes(32).toString('base64url'), // 256 bits
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    redirect_uris: ['http://127.0.0.1/cb'],
    subject_type: 'pairwise',
    id_token_signed_response_alg: 'ES256',
  };
  const config = {
    jwk: generateKey(),
    client,
    pairwiseSecret: crypto.randomBytes(32).toString('base64url'),
    cookieKeys: [crypto.randomBytes(32).toString('base64url')],
  };
  await pool.query(
    'INSERT INTO peer_config (key, value) SELECT * FROM unnest($1::text[], $2::jsonb[])',
    [Object.keys(config), Object.values(config).map((value) => JSON.stringify(value))],
  );

  const ids = [];
  const CHUNK = 5000;
  for (let start = 0; start < accounts; start += CHUNK) {
    const rows = [];
    for (let i = start; i < Math.min(accounts, start + CHUNK); i += 1) {
      rows.push({ id: crypto.randomUUID(), claims: syntheticClaims() });
    }
    // one JSON parameter per chunk (a text[]/jsonb[] pair would be escaped element by element)
    await pool.query(
      'INSERT INTO peer_account (id, claims) SELECT r->>\'id\', r->\'claims\' FROM jsonb_array_elements($1::jsonb) AS r',
      [JSON.stringify(rows)],
    );
    for (const { id } of rows) ids.push(id);
  }

  // Tokens are minted through oidc-provider's own models, as its authorization-code grant would
  // issue them: one Grant per token (so refresh-token reuse detection, which revokes the whole
  // grant, only ever hits that one token's family), then the token with the grant's id.
  const provider = new Provider(issuer, providerConfiguration(config, pool));
  const oidcClient = await provider.Client.find(client.client_id);
  const authTime = Math.floor(Date.now() / 1000);

  async function grantFor(accountId) {
    const grant = new provider.Grant({ accountId, clientId: client.client_id });
    grant.addOIDCScope(SCOPE);
    return grant.save();
  }
  const common = (accountId, grantId) => ({
    accountId, client: oidcClient, grantId, gty: 'authorization_code', scope: SCOPE, authTime, expiresWithSession: false,
  });

  const minted = { refresh_tokens: new Array(refreshTokens), access_tokens: new Array(accessTokens) };
  await inBatches(refreshTokens, 50, async (i) => {
    const accountId = pick(ids);
    const rt = new provider.RefreshToken({ ...common(accountId, await grantFor(accountId)), rotations: 0 });
    minted.refresh_tokens[i] = await rt.save();
  });
  await inBatches(accessTokens, 50, async (i) => {
    const accountId = pick(ids);
    const at = new provider.AccessToken({ ...common(accountId, await grantFor(accountId)), expiresIn: mintedAccessTokenTtl });
    minted.access_tokens[i] = await at.save();
  });
  await pool.end();

  process.stdout.write(`${JSON.stringify({
    client_id: client.client_id,
    client_secret: client.client_secret,
    ...minted,
    accounts,
  })}\n`);
}

// --- serve ------------------------------------------------------------------------------------

function servePrimary() {
  const workers = intEnv('PEER_WORKERS', 1);
  const port = intEnv('PEER_PORT');
  if (workers < 1) throw new Error('PEER_WORKERS must be at least 1');
  let stopping = false;
  let listening = 0;

  const stop = (code) => {
    if (stopping) return;
    stopping = true;
    const alive = Object.values(cluster.workers);
    if (!alive.length) process.exit(code);
    let left = alive.length;
    for (const worker of alive) {
      worker.once('exit', () => { left -= 1; if (!left) process.exit(code); });
      worker.process.kill('SIGTERM');
    }
    setTimeout(() => {
      for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGKILL');
      process.exit(code);
    }, 5000).unref();
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));

  cluster.on('listening', () => {
    listening += 1;
    if (listening === workers) console.error(`peer: ${workers} worker(s) listening on 127.0.0.1:${port}`);
  });
  cluster.on('exit', (worker, code, signal) => {
    if (!stopping) {
      console.error(`peer: worker ${worker.process.pid} exited (${signal || code}), stopping`);
      stop(1);
    }
  });
  for (let i = 0; i < workers; i += 1) cluster.fork();
}

async function serveWorker() {
  const issuer = env('PEER_ISSUER');
  const port = intEnv('PEER_PORT');
  const Provider = await loadProvider();
  const pool = connect(env('PEER_DATABASE_URL'), intEnv('PEER_POOL_SIZE', 5));
  const provider = new Provider(issuer, providerConfiguration(await readConfig(pool), pool));
  provider.proxy = false; // no reverse proxy in front: X-Forwarded-* is not trusted

  const server = http.createServer(provider.callback());
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    pool.end().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
  process.on('SIGINT', () => {}); // the primary handles ^C and stops the workers
  server.listen(port, '127.0.0.1');
}

// --- main -------------------------------------------------------------------------------------

const mode = process.argv[2];
try {
  if (mode === 'setup') {
    await setup();
  } else if (mode === 'serve') {
    if (cluster.isPrimary) servePrimary();
    else await serveWorker();
  } else {
    console.error('usage: node server.mjs setup|serve (configured by PEER_* environment variables)');
    process.exit(2);
  }
} catch (error) {
  console.error(`peer: ${error.stack || error}`);
  process.exit(1);
}
