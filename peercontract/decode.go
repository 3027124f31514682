package peercontract

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// CommandOutput is how a one-shot command of the contract ended.
type CommandOutput struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// Command runs one command of a peer's program (args such as "ticket", "decode", "-") with
// stdin when given. The error means it could not be run; its own failure is in ExitCode.
type Command func(ctx context.Context, stdin []byte, args ...string) (CommandOutput, error)

// DecodeTicket runs `ticket decode TICKET`: the content, or (exit 2) what is wrong with it.
func DecodeTicket(ctx context.Context, run Command, ticket string) (DecodedTicket, error) {
	res, err := run(ctx, nil, "ticket", "decode", ticket)
	if err != nil {
		return DecodedTicket{}, fmt.Errorf("ticket decode: %w", err)
	}
	lines := nonEmptyLines(res.Stdout)
	if len(lines) != 1 || (res.ExitCode != 0 && res.ExitCode != 1 && res.ExitCode != 2) {
		return DecodedTicket{}, fmt.Errorf("ticket decode: exit %d, %d lines: %s", res.ExitCode, len(lines), bytes.TrimSpace(res.Stderr))
	}
	answer := DecodedTicket{}
	if err := json.Unmarshal([]byte(lines[0]), &answer); err != nil {
		return answer, fmt.Errorf("ticket decode: not JSON: %w: %s", err, lines[0])
	}
	answer.Ticket = ticket // the single form does not repeat the ticket
	if (res.ExitCode == 0) == (answer.Error != "") {
		return answer, fmt.Errorf("ticket decode: exit %d does not go with %s", res.ExitCode, lines[0])
	}
	return answer, nil
}

// DecodeTickets decodes many tickets with one `ticket decode -` (the ones holding a line break,
// which that reads as two, one by one); the answers come in input order.
func DecodeTickets(ctx context.Context, run Command, tickets []string) ([]DecodedTicket, error) {
	answers := make([]DecodedTicket, len(tickets))
	var batch []string
	var batchIndex []int
	for i, t := range tickets {
		if !strings.ContainsAny(t, "\r\n") {
			batch, batchIndex = append(batch, t), append(batchIndex, i)
			continue
		}
		a, err := DecodeTicket(ctx, run, t)
		if err != nil {
			return nil, err
		}
		answers[i] = a
	}
	if len(batch) == 0 {
		return answers, nil
	}
	res, err := run(ctx, []byte(strings.Join(batch, "\n")+"\n"), "ticket", "decode", "-")
	if err != nil {
		return nil, fmt.Errorf("ticket decode -: %w", err)
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("ticket decode -: exit %d: %s", res.ExitCode, bytes.TrimSpace(res.Stderr))
	}
	lines := strings.Split(strings.TrimSuffix(string(res.Stdout), "\n"), "\n")
	if len(lines) != len(batch) {
		return nil, fmt.Errorf("ticket decode -: %d answers for %d tickets", len(lines), len(batch))
	}
	for j, l := range lines {
		i := batchIndex[j]
		if err := json.Unmarshal([]byte(l), &answers[i]); err != nil {
			return nil, fmt.Errorf("ticket decode -: answer %d is not JSON: %w: %s", j+1, err, l)
		}
		// A ticket that is not UTF-8 comes back with its bad bytes replaced (JSON is text); the
		// answer is in its place, so it gets the ticket as it was given.
		if !utf8.ValidString(tickets[i]) {
			answers[i].Ticket = tickets[i]
		}
		if answers[i].Ticket != tickets[i] {
			return nil, fmt.Errorf("ticket decode -: answer %d is for %q, not %q", j+1, answers[i].Ticket, tickets[i])
		}
	}
	return answers, nil
}

func nonEmptyLines(b []byte) []string {
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}
