package api

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// page is a List* request's window: at most max items after the key the
// previous page ended on.
type page struct {
	list  string // which List* action, e.g. "clusters"; tokens name it
	max   int
	after string // "" for the first page
}

const defaultPageSize = 100

// parsePage checks maxResults and nextToken as ECS does. A token is the
// opaque form of the list it came from and the last key the previous page
// returned, so paging stays stable while objects are added or removed, and
// a token from another list, or any other string, is refused rather than
// read as a position.
func parsePage(list string, maxResults *int32, nextToken string, defaultMax int) (page, error) {
	p := page{list: list, max: defaultMax}
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > 100 {
			return p, invalidParameter("maxResults must be between 1 and 100, got %d.", *maxResults)
		}
		p.max = int(*maxResults)
	}
	if nextToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(nextToken)
		from, key, ok := strings.Cut(string(raw), tokenSep)
		if err != nil || !ok || from != list || key == "" || !utf8.ValidString(key) {
			return p, invalidParameter("Invalid nextToken.")
		}
		p.after = key
	}
	return p, nil
}

// tokenSep separates a token's list from its key; no name or key holds it.
const tokenSep = "\x00"

func pageToken(list, lastKey string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(list + tokenSep + lastKey))
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
		c.next = pageToken(c.list, c.lastKey)
		return false
	}
	c.out, c.lastKey = append(c.out, value), key
	return true
}
