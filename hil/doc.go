// Package hil drives boards over serial for the hardware-in-the-loop suite.
//
// It is split the way labgrid and espflash split the job:
//
//   - resources: what a board is and where it is plugged in (package profile);
//   - drivers: the serial port and its modem lines (port), DTR/RTS reset sequences (reset),
//     the console reader with Expect (console), the vocabulary of the firmware's log lines
//     (boardlines), flashing through espflash (flash), the virtual board process (virtual);
//   - strategies: getting a board to "ready" and keeping it there (board).
//
// The suites use package board; the other packages are the parts it is made of.
package hil
