package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Container logs are kept in the CRI logging format the kubelet reads
// (one line per chunk: "<RFC3339Nano time> <stdout|stderr> <F|P> <text>",
// P marking a partial line), so `kubectl logs --timestamps`, --since-time,
// --tail and --limit-bytes work as they do against a real node.

const (
	// maxLogLine is the longest chunk written as one log line; longer output
	// lines are split into P (partial) chunks, as container runtimes do.
	maxLogLine = 16 * 1024

	// From pkg/kubelet/container: termination messages.
	maxTerminationMessageLength   = 4 * 1024 // bytes read from terminationMessagePath
	maxTerminationMessageLogLines = 80       // FallbackToLogsOnError: last lines...
	maxTerminationMessageLogBytes = 2048     // ...of which the last bytes
)

// logFile is the log of one container run. Writers are the two output pumps;
// readers (the log API, with follow) wait on changed() for more.
type logFile struct {
	path string

	mu     sync.Mutex
	f      *os.File
	notify chan struct{} // closed and replaced whenever the file grows or closes
	closed bool
}

func createLogFile(path string) (*logFile, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	return &logFile{path: path, f: f, notify: make(chan struct{})}, nil
}

// writeEntry appends one CRI log line.
func (l *logFile) writeEntry(now time.Time, stream string, partial bool, text []byte) {
	tag := "F"
	if partial {
		tag = "P"
	}
	var b bytes.Buffer
	b.Grow(len(text) + 48)
	b.WriteString(now.UTC().Format(time.RFC3339Nano))
	b.WriteByte(' ')
	b.WriteString(stream)
	b.WriteByte(' ')
	b.WriteString(tag)
	b.WriteByte(' ')
	b.Write(text)
	b.WriteByte('\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	_, _ = l.f.Write(b.Bytes())
	close(l.notify)
	l.notify = make(chan struct{})
}

// pump copies one output stream of the container into the log until EOF.
func (l *logFile) pump(stream string, r io.Reader) {
	br := bufio.NewReaderSize(r, maxLogLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			full := line[len(line)-1] == '\n'
			if full {
				line = line[:len(line)-1]
			}
			// A chunk cut by the buffer size or by EOF is partial.
			l.writeEntry(time.Now(), stream, !full, line)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// close ends the log: followers stop once they have read it all.
func (l *logFile) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	_ = l.f.Close()
	close(l.notify)
}

// changed returns a channel closed at the next write, and whether the log is
// already closed.
func (l *logFile) changed() (<-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.notify, l.closed
}

// logEntry is one parsed CRI log line.
type logEntry struct {
	time    time.Time
	stream  string
	partial bool
	text    []byte // without the line's newline
}

// parseLogLine parses "<time> <stream> <tag> <text>" (the line without "\n").
func parseLogLine(line []byte) (logEntry, error) {
	var e logEntry
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return e, fmt.Errorf("log line without stream")
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return e, err
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return e, fmt.Errorf("log line without tag")
	}
	tag, text, _ := bytes.Cut(rest, []byte{' '})
	e.time, e.stream, e.text = t, string(stream), text
	e.partial = string(tag) == "P"
	return e, nil
}

// content is the entry as the container printed it.
func (e logEntry) content() []byte {
	if e.partial {
		return e.text
	}
	return append(e.text[:len(e.text):len(e.text)], '\n')
}

// readLogEntries parses a whole log file; a missing file is an empty log.
func readLogEntries(path string) ([]logEntry, int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, 0, nil
		}
		return nil, 0, err
	}
	entries, used := parseLogData(data)
	return entries, used, nil
}

// parseLogData parses complete lines of data and returns how many bytes
// they took; an incomplete last line is left for later.
func parseLogData(data []byte) ([]logEntry, int64) {
	var out []logEntry
	var used int64
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return out, used
		}
		if e, err := parseLogLine(data[:i]); err == nil {
			out = append(out, e)
		}
		used += int64(i + 1)
		data = data[i+1:]
	}
}

// tailEntries keeps the entries making up the last n lines (partial chunks
// count with the line they end in; an unfinished last line counts as one).
func tailEntries(entries []logEntry, n int) []logEntry {
	if n < 0 {
		return entries
	}
	if n == 0 {
		return nil
	}
	lines := 0
	for i := len(entries) - 1; i >= 0; i-- {
		if !entries[i].partial || i == len(entries)-1 {
			lines++
			if lines > n {
				return entries[i+1:]
			}
		}
	}
	return entries
}

// logTail is what FallbackToLogsOnError puts in a termination message: the
// last 80 lines of the log, of which at most the last 2048 bytes.
func logTail(path string) string {
	entries, _, err := readLogEntries(path)
	if err != nil {
		return fmt.Sprintf("Error on reading termination message from logs: %v", err)
	}
	var b bytes.Buffer
	for _, e := range tailEntries(entries, maxTerminationMessageLogLines) {
		b.Write(e.content())
	}
	out := b.Bytes()
	if len(out) > maxTerminationMessageLogBytes {
		out = out[len(out)-maxTerminationMessageLogBytes:]
	}
	return string(out)
}

// readTail reads at most the last max bytes of a file, as the kubelet's
// tail.ReadAtMost does for termination messages.
func readTail(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(0, fi.Size()-limit)
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(f, limit))
}

// terminationMessage computes terminated.message as the kubelet does: the
// file at terminationMessagePath (its last 4 KiB); with FallbackToLogsOnError
// and a failed container, the log tail when the file is missing or empty.
func terminationMessage(file, logPath string, fallbackToLogs bool, exitCode int32) string {
	fallback := fallbackToLogs && exitCode != 0
	if file == "" {
		if fallback {
			return logTail(logPath)
		}
		return ""
	}
	data, err := readTail(file, maxTerminationMessageLength)
	if err != nil {
		if os.IsNotExist(err) {
			if fallback {
				return logTail(logPath)
			}
			return ""
		}
		return fmt.Sprintf("Error on reading termination log %s: %v", file, err)
	}
	if len(data) == 0 && fallback {
		return logTail(logPath)
	}
	return strings.ToValidUTF8(string(data), "\uFFFD")
}
