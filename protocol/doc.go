// Package protocol holds the Airbyte protocol messages a source prints and the
// one writer that owns standard output.
//
// Contract:
//   - Every message is one JSON object on one line, with the payload its Type
//     names (RECORD→record, STATE→state, LOG→log, TRACE→trace, SPEC→spec,
//     CATALOG→catalog, CONNECTION_STATUS→connectionStatus, CONTROL→control).
//     Absent optional fields, namespace included, are omitted, never null.
//   - Records are never decoded: AppendRecord wraps the raw JSON bytes of a
//     record in its envelope.
//   - A Writer is safe for concurrent use. A single goroutine owns the
//     underlying io.Writer through a large buffer; it flushes after every
//     STATE, TRACE and CONNECTION_STATUS, about once a second while records
//     flow, and on Close. Senders block when the writer is behind (a slow
//     reader), so memory stays bounded.
//   - Text that may carry secrets (LOG and TRACE messages, connection status)
//     passes through the Writer's Redactor before it is encoded.
package protocol
