// Package ui is the operations web page of gobus, served by gobus ui: the
// endpoints with their queues and throughput, the failed messages grouped
// the way ServicePulse groups them (retry or delete one, a selection, a
// group or all, with the same code as gobus errors), and the conversation
// of a correlation id as a sequence diagram drawn from the audit stream.
//
// The page is server-rendered HTML with its stylesheet and a small script
// embedded in the binary; nothing is fetched from elsewhere. The script
// only refreshes the live parts of a page; every action works without it.
//
// # Safety
//
// Retry and delete are POST requests, refused unless they carry the
// page's CSRF token (a cookie and a form field that must agree) and come
// from the page's own origin. Off loopback, [CheckExposure] refuses to
// serve without a token or basic auth; on loopback without either, the
// server answers only requests addressed to a loopback host name, so that
// a web page whose DNS name is rebound to 127.0.0.1 cannot read it.
package ui
