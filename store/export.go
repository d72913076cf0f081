package store

import (
	"encoding/json"
	"time"
)

// Record is one item of an export: exactly one field is set.
type Record struct {
	Sequences *Sequences
	Audit     *AuditEntry
	Lock      *Lock
	Request   *PromotionRequest
	ReviewApp *ReviewApp
	PRThread  *PRThread
	Incident  *Incident
	Entry     *IncidentEntry
	Channel   *IncidentChannel
	Signal    *SignalState
	Row       *RecordRow
	Slot      *TakenSlot
	Verified  *Verification
}

// SignalState is a signal's JSON, as UpdateSignal stored it.
type SignalState struct {
	Key  string
	Data json.RawMessage
}

// TakenSlot is a slot TakeSlot gave out at At.
type TakenSlot struct {
	Key string
	At  time.Time
}

// Sequences are the last numbers handed out. The importing store must hand
// out larger ones: a request id or an incident number is never reused.
type Sequences struct {
	Audit, Requests, Incidents uint64
}

// PRThread is the thread of a pull request's notification.
type PRThread struct {
	PR     int
	Thread Thread
}

// IncidentEntry is a timeline entry of incident Incident.
type IncidentEntry struct {
	Incident uint64
	Entry    TimelineEntry
}

// IncidentChannel says that Channel is incident Incident's own channel.
type IncidentChannel struct {
	Channel  string
	Incident uint64
}

// Counts are how many records of each kind a store holds; devy
// migrate-store compares the two sides' after a copy.
type Counts struct {
	Audit, Locks, Requests, ReviewApps, PRThreads, Incidents, TimelineEntries, IncidentChannels int
	Signals, Records, Slots, Verifications                                                      int
}

// Add counts rec.
func (c *Counts) Add(rec Record) {
	switch {
	case rec.Audit != nil:
		c.Audit++
	case rec.Lock != nil:
		c.Locks++
	case rec.Request != nil:
		c.Requests++
	case rec.ReviewApp != nil:
		c.ReviewApps++
	case rec.PRThread != nil:
		c.PRThreads++
	case rec.Incident != nil:
		c.Incidents++
	case rec.Entry != nil:
		c.TimelineEntries++
	case rec.Channel != nil:
		c.IncidentChannels++
	case rec.Signal != nil:
		c.Signals++
	case rec.Row != nil:
		c.Records++
	case rec.Slot != nil:
		c.Slots++
	case rec.Verified != nil:
		c.Verifications++
	}
}
