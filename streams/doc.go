// Package streams is the Zoom source: its stream table, its config and its
// check. Everything Zoom-specific that is not authentication lives here:
// endpoints, record keys, parent fields, primary keys, cursors, Zoom's
// error codes and rate-limit categories, and UUID double-encoding.
//
// Contract: Connector returns a connector.Connector whose Open builds a
// fresh connector.Source per run from a config already validated against
// spec.json; nothing is shared between runs.
package streams
