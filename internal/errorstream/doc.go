// Package errorstream reads and operates the gobus error stream: it lists
// failed messages, chooses them by id or by what they are, sends them back
// to the endpoint that failed them and deletes them. The gobus command
// line (gobus errors) and the operations page (gobus ui) share it, so that
// a retry does the same thing from both.
package errorstream
