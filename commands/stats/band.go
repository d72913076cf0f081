package stats

import "time"

// Band is a DORA performance band. The zero Band means there is nothing to
// judge (no promotion, no lead-time data, no resolved incident).
type Band int

// Bands from worst to best.
const (
	NoBand Band = iota
	Low
	Medium
	High
	Elite
)

func (b Band) String() string {
	switch b {
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	case Elite:
		return "elite"
	}
	return "no band"
}

// The report's rows as durations. A month is 30 days, as in the report's
// "between once per week and once per month".
const (
	day   = 24 * time.Hour
	week  = 7 * day
	month = 30 * day
)

// frequencyBand judges n successful promotions in days calendar days by
// their average rate, in whole numbers so that exactly once a week is high:
// elite at one a day or more ("on demand"), high at one a week or more,
// medium at one a month or more, low below that.
func frequencyBand(n, days int) Band {
	switch {
	case days <= 0:
		return NoBand
	case n >= days:
		return Elite
	case n*7 >= days:
		return High
	case n*30 >= days:
		return Medium
	}
	return Low
}

// leadTimeBand judges the median lead time: elite under a day, high under a
// week, medium under a month, low from a month on.
func leadTimeBand(median time.Duration, samples int) Band {
	switch {
	case samples == 0:
		return NoBand
	case median < day:
		return Elite
	case median < week:
		return High
	case median < month:
		return Medium
	}
	return Low
}

// changeFailureBand judges failed of n promotions: elite up to 5%, high up to
// 10%, medium up to 15%, low above. The report gives each band's typical
// rate; Devy reads it as that band's ceiling.
func changeFailureBand(failed, n int) Band {
	switch {
	case n == 0:
		return NoBand
	case failed*100 <= 5*n:
		return Elite
	case failed*100 <= 10*n:
		return High
	case failed*100 <= 15*n:
		return Medium
	}
	return Low
}

// restoreBand judges the median time to restore: elite under an hour, high
// under a day, medium under a week, low from a week on.
func restoreBand(median time.Duration, samples int) Band {
	switch {
	case samples == 0:
		return NoBand
	case median < time.Hour:
		return Elite
	case median < day:
		return High
	case median < week:
		return Medium
	}
	return Low
}
