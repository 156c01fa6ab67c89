// PostgreSQL adapter for oidc-provider (the peer's persistent store, bench/peer.py).
//
// Written for this benchmark from oidc-provider's documented adapter interface: one instance per
// model name (AccessToken, RefreshToken, Grant, ClientCredentials, AuthorizationCode, Session,
// Interaction, ...), each method a promise. Every model lives in one table, keyed by
// (model, id); the secondary look-ups (grant_id for revokeByGrantId, user_code for the device
// flow, uid for sessions) have their own indexes. Expiry is kept as a timestamp and checked by
// find(), so an expired row is never returned (rows are not swept: a benchmark run is short).
// Statements are named, so each pooled connection prepares them once.

import pg from 'pg';

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS oidc_payload (
  model text NOT NULL,
  id text NOT NULL,
  payload jsonb NOT NULL,
  grant_id text,
  user_code text,
  uid text,
  expires_at timestamptz,
  consumed_at timestamptz,
  PRIMARY KEY (model, id)
);
CREATE INDEX IF NOT EXISTS oidc_payload_grant_id ON oidc_payload (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_payload_user_code ON oidc_payload (user_code) WHERE user_code IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_payload_uid ON oidc_payload (uid) WHERE uid IS NOT NULL;
`;

let pool;

// The pool every adapter instance uses; call once per process before the provider is used.
export function connect(connectionString, max = 10) {
  pool = new pg.Pool({ connectionString, max });
  // An idle client losing its connection must not crash the worker; the next query reconnects.
  pool.on('error', () => {});
  return pool;
}

export function getPool() {
  if (!pool) throw new Error('adapter.connect() has not been called');
  return pool;
}

const LIVE = '(expires_at IS NULL OR expires_at > now())';
const COLUMNS = `payload, floor(extract(epoch FROM consumed_at))::int AS consumed`;

function row(result) {
  const found = result.rows[0];
  if (!found) return undefined;
  const { payload, consumed } = found;
  if (consumed !== null) payload.consumed = consumed;
  return payload;
}

export default class PostgresAdapter {
  constructor(name) {
    this.name = name;
  }

  async upsert(id, payload, expiresIn) {
    await getPool().query({
      name: 'oidc_upsert',
      text: `INSERT INTO oidc_payload (model, id, payload, grant_id, user_code, uid, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6,
                     CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(secs => $7::int) END)
             ON CONFLICT (model, id) DO UPDATE SET
               payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code,
               uid = excluded.uid, expires_at = excluded.expires_at, consumed_at = NULL`,
      values: [
        this.name,
        id,
        payload,
        payload.grantId ?? null,
        payload.userCode ?? null,
        payload.uid ?? null,
        typeof expiresIn === 'number' ? Math.ceil(expiresIn) : null,
      ],
    });
  }

  async find(id) {
    return row(await getPool().query({
      name: 'oidc_find',
      text: `SELECT ${COLUMNS} FROM oidc_payload WHERE model = $1 AND id = $2 AND ${LIVE}`,
      values: [this.name, id],
    }));
  }

  async findByUserCode(userCode) {
    return row(await getPool().query({
      name: 'oidc_find_user_code',
      text: `SELECT ${COLUMNS} FROM oidc_payload WHERE model = $1 AND user_code = $2 AND ${LIVE} LIMIT 1`,
      values: [this.name, userCode],
    }));
  }

  async findByUid(uid) {
    return row(await getPool().query({
      name: 'oidc_find_uid',
      text: `SELECT ${COLUMNS} FROM oidc_payload WHERE model = $1 AND uid = $2 AND ${LIVE} LIMIT 1`,
      values: [this.name, uid],
    }));
  }

  async consume(id) {
    await getPool().query({
      name: 'oidc_consume',
      text: 'UPDATE oidc_payload SET consumed_at = now() WHERE model = $1 AND id = $2',
      values: [this.name, id],
    });
  }

  async destroy(id) {
    await getPool().query({
      name: 'oidc_destroy',
      text: 'DELETE FROM oidc_payload WHERE model = $1 AND id = $2',
      values: [this.name, id],
    });
  }

  // The tokens of this model issued under the grant (oidc-provider calls this on each grantable
  // model, AccessToken, RefreshToken, AuthorizationCode, ..., and destroys the Grant itself).
  async revokeByGrantId(grantId) {
    await getPool().query({
      name: 'oidc_revoke_grant',
      text: 'DELETE FROM oidc_payload WHERE model = $1 AND grant_id = $2',
      values: [this.name, grantId],
    });
  }
}
