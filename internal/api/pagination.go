package api

import (
	"encoding/base64"
	"unicode/utf8"
)

// page is a List* request's window: at most max items after the key the
// previous page ended on.
type page struct {
	max   int
	after string // "" for the first page
}

const defaultPageSize = 100

// parsePage checks maxResults and nextToken as ECS does. A token is the
// opaque form of the last key the previous page returned, so paging stays
// stable while objects are added or removed.
func parsePage(maxResults *int32, nextToken string, defaultMax int) (page, error) {
	p := page{max: defaultMax}
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > 100 {
			return p, invalidParameter("maxResults must be between 1 and 100, got %d.", *maxResults)
		}
		p.max = int(*maxResults)
	}
	if nextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(nextToken)
		if err != nil || len(raw) == 0 || !utf8.Valid(raw) {
			return p, invalidParameter("Invalid nextToken.")
		}
		p.after = string(raw)
	}
	return p, nil
}

func pageToken(lastKey string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastKey))
}

// collector gathers one page of results from an ordered walk.
type collector struct {
	page
	out     []string
	lastKey string
	next    string
}

// add offers the next matching item (its key and what the page lists for
// it); it returns false once the page is full, leaving next set.
func (c *collector) add(key, value string) bool {
	if c.after != "" && key == c.after {
		return true // the previous page ended here
	}
	if len(c.out) == c.max {
		c.next = pageToken(c.lastKey)
		return false
	}
	c.out, c.lastKey = append(c.out, value), key
	return true
}
