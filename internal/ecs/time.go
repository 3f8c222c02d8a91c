package ecs

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Timestamp is an instant on the wire as a JSON number of epoch seconds with
// millisecond precision, which is how the ECS JSON protocol carries every
// timestamp (the SDKs reject strings). The zero value is omitted.
type Timestamp struct{ time.Time }

// At returns t truncated to the millisecond precision the wire carries.
func At(t time.Time) Timestamp { return Timestamp{t.Truncate(time.Millisecond)} }

func (t Timestamp) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	return strconv.AppendFloat(nil, float64(ms)/1000, 'f', -1, 64), nil
}

func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > 1e12 {
		return fmt.Errorf("timestamp must be a number of epoch seconds, got %.40s", b)
	}
	t.Time = time.UnixMilli(int64(math.Round(f * 1000))).UTC()
	return nil
}
