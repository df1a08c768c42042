// A real OpenID provider (panva's oidc-provider, certified, not written here) for secure-api's
// end-to-end tests. tests/suite/oidc.rs starts it on a loopback port and talks to it over HTTP:
// discovery, JWKS, and access tokens from the client credentials grant.
//
// TEST FIXTURE ONLY: plain http, an in-memory store, a client secret from the environment.
// Nothing here is a configuration to deploy.
//
// Everything comes from the environment the harness sets:
//   OIDC_PORT           port to listen on, 127.0.0.1 only (or the first argument)
//   OIDC_JWKS_FILE      private JWKS; its FIRST key signs the access tokens, the others are
//                       only published (a rotation's overlap). Each key carries kid and alg.
//   OIDC_CLIENT_ID      the client allowed the client_credentials grant,
//   OIDC_CLIENT_SECRET  authenticated with client_secret_basic
//   OIDC_RESOURCE       the resource indicator (RFC 8707) of the API: the tokens' `aud`
//   OIDC_SCOPES         the scopes that resource server knows (space separated); a token
//                       carries those of the requested ones it knows
//   OIDC_ROLES          JSON array placed as `roles` in every access token

import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`provider.mjs: ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const port = Number(process.argv[2] ?? required('OIDC_PORT'));
const jwks = JSON.parse(readFileSync(required('OIDC_JWKS_FILE'), 'utf8'));
const resource = required('OIDC_RESOURCE');
const roles = JSON.parse(required('OIDC_ROLES'));
const [signer] = jwks.keys;

// The issuer is exactly the URL the harness reaches: http on loopback, so no `proxy` setting.
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  jwks,
  clients: [{
    client_id: required('OIDC_CLIENT_ID'),
    client_secret: required('OIDC_CLIENT_SECRET'),
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  // Five-minute access tokens, as an API expects them short-lived.
  ttl: { ClientCredentials: 300 },
  // The default ID token algorithm is RS256, which a client cannot have when the key set
  // holds EC keys only: every client gets the algorithm of the signing key instead.
  clientDefaults: { id_token_signed_response_alg: signer.alg },
  features: {
    // The login/consent pages of quick starts: not wanted, no user ever signs in here.
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // A token request without `resource` is for the API all the same.
      defaultResource: () => resource,
      getResourceServerInfo: (_ctx, indicator) => {
        if (indicator !== resource) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: required('OIDC_SCOPES'),
          audience: resource,
          // RFC 9068 JWT access tokens (typ at+jwt), signed with the first key given.
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: signer.alg, kid: signer.kid } },
        };
      },
    },
  },
  // `roles` in every access token; `scope`, `client_id`, `iss`, `aud`, `exp`, `iat`, `jti`
  // and `sub` (= the client id) are the provider's own.
  extraTokenClaims: () => ({ roles }),
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`listening on ${issuer}`);
});
