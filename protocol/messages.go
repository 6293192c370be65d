package protocol

import "encoding/json"

// Message types.
const (
	TypeRecord           = "RECORD"
	TypeState            = "STATE"
	TypeLog              = "LOG"
	TypeSpec             = "SPEC"
	TypeConnectionStatus = "CONNECTION_STATUS"
	TypeCatalog          = "CATALOG"
	TypeTrace            = "TRACE"
	TypeControl          = "CONTROL"
)

// Message is one Airbyte message. Exactly one payload is set, the one Type names.
type Message struct {
	Type             string            `json:"type"`
	Log              *Log              `json:"log,omitempty"`
	Spec             json.RawMessage   `json:"spec,omitempty"`
	ConnectionStatus *ConnectionStatus `json:"connectionStatus,omitempty"`
	Catalog          *Catalog          `json:"catalog,omitempty"`
	Record           *Record           `json:"record,omitempty"`
	State            *State            `json:"state,omitempty"`
	Trace            *Trace            `json:"trace,omitempty"`
}

// Log levels.
const (
	LevelFatal = "FATAL"
	LevelError = "ERROR"
	LevelWarn  = "WARN"
	LevelInfo  = "INFO"
	LevelDebug = "DEBUG"
	LevelTrace = "TRACE"
)

// Log is an AirbyteLogMessage.
type Log struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

// ConnectionStatus is the answer to check.
type ConnectionStatus struct {
	Status  string `json:"status"` // SUCCEEDED or FAILED
	Message string `json:"message,omitempty"`
}

// Record is an AirbyteRecordMessage. Data is the raw JSON object.
type Record struct {
	Stream    string          `json:"stream"`
	Namespace string          `json:"namespace,omitempty"`
	Data      json.RawMessage `json:"data"`
	EmittedAt int64           `json:"emitted_at"`
}

// Catalog is an AirbyteCatalog.
type Catalog struct {
	Streams []Stream `json:"streams"`
}

// Sync modes.
const (
	FullRefresh = "full_refresh"
	Incremental = "incremental"
)

// Stream is an AirbyteStream as discover describes it.
type Stream struct {
	Name                    string          `json:"name"`
	Namespace               string          `json:"namespace,omitempty"`
	JSONSchema              json.RawMessage `json:"json_schema"`
	SupportedSyncModes      []string        `json:"supported_sync_modes"`
	SourceDefinedCursor     bool            `json:"source_defined_cursor,omitempty"`
	DefaultCursorField      []string        `json:"default_cursor_field,omitempty"`
	SourceDefinedPrimaryKey [][]string      `json:"source_defined_primary_key,omitempty"`
	IsResumable             *bool           `json:"is_resumable,omitempty"`
}

// ConfiguredCatalog is the --catalog input of read.
type ConfiguredCatalog struct {
	Streams []ConfiguredStream `json:"streams"`
}

// ConfiguredStream is one selected stream.
type ConfiguredStream struct {
	Stream              Stream     `json:"stream"`
	SyncMode            string     `json:"sync_mode"`
	CursorField         []string   `json:"cursor_field,omitempty"`
	DestinationSyncMode string     `json:"destination_sync_mode"`
	PrimaryKey          [][]string `json:"primary_key,omitempty"`
	GenerationID        *int64     `json:"generation_id,omitempty"`
	MinimumGenerationID *int64     `json:"minimum_generation_id,omitempty"`
	SyncID              *int64     `json:"sync_id,omitempty"`
}

// State types.
const (
	StateStream = "STREAM"
	StateGlobal = "GLOBAL"
	StateLegacy = "LEGACY"
)

// State is an AirbyteStateMessage.
type State struct {
	Type        string          `json:"type,omitempty"`
	Stream      *StreamState    `json:"stream,omitempty"`
	Global      *GlobalState    `json:"global,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
	SourceStats *StateStats     `json:"sourceStats,omitempty"`
}

// StreamDescriptor names a stream.
type StreamDescriptor struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// StreamState is the state of one stream.
type StreamState struct {
	StreamDescriptor StreamDescriptor `json:"stream_descriptor"`
	StreamState      json.RawMessage  `json:"stream_state,omitempty"`
}

// GlobalState is the GLOBAL state shape.
type GlobalState struct {
	SharedState  json.RawMessage `json:"shared_state,omitempty"`
	StreamStates []StreamState   `json:"stream_states"`
}

// StateStats carries the record count the platform checks.
type StateStats struct {
	RecordCount float64 `json:"recordCount"`
}

// Trace types.
const (
	TraceError        = "ERROR"
	TraceEstimate     = "ESTIMATE"
	TraceStreamStatus = "STREAM_STATUS"
)

// Failure types of an error trace.
const (
	ConfigError    = "config_error"
	SystemError    = "system_error"
	TransientError = "transient_error"
)

// Stream statuses.
const (
	StatusStarted    = "STARTED"
	StatusRunning    = "RUNNING"
	StatusComplete   = "COMPLETE"
	StatusIncomplete = "INCOMPLETE"
)

// Trace is an AirbyteTraceMessage.
type Trace struct {
	Type         string        `json:"type"`
	EmittedAt    float64       `json:"emitted_at"`
	Error        *TraceErr     `json:"error,omitempty"`
	Estimate     *Estimate     `json:"estimate,omitempty"`
	StreamStatus *StreamStatus `json:"stream_status,omitempty"`
}

// TraceErr is an AirbyteErrorTraceMessage.
type TraceErr struct {
	Message          string            `json:"message"`
	InternalMessage  string            `json:"internal_message,omitempty"`
	StackTrace       string            `json:"stack_trace,omitempty"`
	FailureType      string            `json:"failure_type,omitempty"`
	StreamDescriptor *StreamDescriptor `json:"stream_descriptor,omitempty"`
}

// Estimate is an AirbyteEstimateTraceMessage.
type Estimate struct {
	Name        string `json:"name"`
	Namespace   string `json:"namespace,omitempty"`
	Type        string `json:"type"` // STREAM or SYNC
	RowEstimate int64  `json:"row_estimate,omitempty"`
}

// StreamStatus is an AirbyteStreamStatusTraceMessage.
type StreamStatus struct {
	StreamDescriptor StreamDescriptor     `json:"stream_descriptor"`
	Status           string               `json:"status"`
	Reasons          []StreamStatusReason `json:"reasons,omitempty"`
}

// StreamStatusReason explains a RUNNING status, e.g. RATE_LIMITED.
type StreamStatusReason struct {
	Type        string             `json:"type"`
	RateLimited *RateLimitedReason `json:"rate_limited,omitempty"`
}

// RateLimitedReason says when a rate-limited stream resumes.
type RateLimitedReason struct {
	QuotaReset int64 `json:"quota_reset,omitempty"`
}
