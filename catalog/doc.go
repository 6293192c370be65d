// Package catalog holds the JSON Schemas of the source-zoom connector's
// public streams, as they are announced in the Airbyte catalog (discover).
//
// Contract:
//
//   - There is one schema per public stream, embedded from schemas/<stream>.json;
//     the stream name is the file name without ".json". The hidden parent
//     streams (user_meetings, user_webinars, past_webinar_instances) are never
//     emitted and have no schema here.
//   - Names returns every public stream name, sorted, in a new slice.
//   - Schema returns the compact JSON of a stream's schema, as a fresh copy the
//     caller may keep or modify, and false for an unknown stream.
//   - Every schema is a JSON Schema draft-07 document whose root is
//     {"type": "object", "additionalProperties": true}. Every property at every
//     depth is nullable (its type list includes "null"), every nested object
//     also allows additional properties, and no field is required: Zoom omits
//     fields freely and adds new ones.
//   - A schema declares every field of the corresponding stream of Airbyte's own
//     Zoom source (1.2.x) with the same or a wider type, every field Zoom's API
//     reference documents for the record, and the fields the connector adds
//     from parent records (meeting_id, meeting_uuid, meeting_start_time,
//     webinar_id, webinar_uuid, webinar_start_time, user_id) with the type the
//     connector emits them as. Every primary-key field and cursor field of the
//     stream is a top-level property.
//   - Where Zoom documents an integer and Airbyte's schema says number, the
//     schema says number (which accepts integers).
//
// The package has no state besides the embedded files and an index built once
// on first use; it is safe for concurrent use.
package catalog
