// Package auth implements Zoom server-to-server OAuth as an
// oauth2.TokenSource.
//
// Contract: one TokenSource serves a whole sync and is safe for concurrent
// use. It asks Zoom's token endpoint (grant account_credentials, the
// account_id parameter, client id and secret in HTTP Basic auth) for a
// token, reuses it until shortly before it expires, and fetches a new one
// once, single-flight, when Invalidate reports the API rejected it. Token
// endpoint refusals become connector.ConfigErrors quoting Zoom's reason;
// neither the client secret nor any token appears in an error, and every
// token is registered with the redactor before it is used.
package auth
