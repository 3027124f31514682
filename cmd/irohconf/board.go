package main

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/irohconf/irohconf/hil/board"
	"github.com/irohconf/irohconf/hil/port"
	"github.com/irohconf/irohconf/hil/profile"
	"github.com/irohconf/irohconf/internal/cli"
	"github.com/irohconf/irohconf/internal/repo"
)

func init() { register(newBoardCommand) }

// newBoardCommand groups what a person at the bench asks before a hil run.
func newBoardCommand() *cobra.Command {
	cmd := cli.Group(&cobra.Command{
		Use:   "board",
		Short: "Boards on this host: check that a board's port is there and free, list USB serial ports",
	})
	cmd.AddCommand(newBoardCheckCommand(), newBoardPortsCommand())
	return cmd
}

func newBoardCheckCommand() *cobra.Command {
	var portPath, boards string
	cmd := &cobra.Command{
		Use:   "check (--port PATH | --board PROFILE[,PROFILE...])",
		Short: `Check that each board can be reached (port present and free); prints {"board":..,"port":..} per board`,
		Long: "check finds each board's port (by path, USB serial number or VID:PID), and checks that it\n" +
			"exists, that no other process holds it open, and that it opens. A board that cannot be\n" +
			"reached is one line on stderr and exit 2, so `make hil` stops before any cell runs.\n" +
			"Profiles are paths or names in fixtures/boards/.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			profiles, err := boardProfiles(portPath, boards)
			if err != nil {
				return usageError(err)
			}
			out := cli.Stdout(cmd)
			for _, p := range profiles {
				path, err := board.Check(cmd.Context(), p)
				if err != nil {
					return usageError(err)
				}
				if err := out.Line(map[string]string{"board": p.Name, "kind": string(p.Kind), "port": path}); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&portPath, "port", "", "a board's serial port (the default profile for a bare port)")
	cmd.Flags().StringVar(&boards, "board", "", "board profiles, comma-separated: names in fixtures/boards/ or paths")
	return cmd
}

// boardProfiles are the boards `make hil` runs on: BOARD's profiles, else PORT's default one.
func boardProfiles(portPath, boards string) ([]*profile.Profile, error) {
	if boards == "" {
		if portPath == "" {
			return nil, errors.New("no board: give --port PATH or --board PROFILE")
		}
		p, err := profile.ForPort(portPath)
		if err != nil {
			return nil, err
		}
		return []*profile.Profile{p}, nil
	}
	root, err := repo.Root()
	if err != nil {
		root = "."
	}
	var out []*profile.Profile
	for _, name := range strings.Split(boards, ",") {
		p, err := profile.LoadNamed(root, strings.TrimSpace(name))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func newBoardPortsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "ports",
		Short: `List the USB serial ports plugged in: {"port":..,"vid_pid":..,"usb_serial":..,"reset":..,"device":..} each`,
		Long: "ports lists the USB serial ports this host sees, with what a board profile needs: the\n" +
			"VID:PID and USB serial number, and the reset espflash would use on such a port.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ports, err := port.ListUSB()
			if err != nil {
				return failure(err)
			}
			out := cli.Stdout(cmd)
			for _, p := range ports {
				reset, what := profile.ResetForUSB(p.VID, p.PID)
				line := map[string]string{"port": p.Path, "vid_pid": p.VID + ":" + p.PID, "usb_serial": p.SerialNumber, "reset": string(reset), "device": what}
				if err := out.Line(line); err != nil {
					return err
				}
			}
			return nil
		},
	}
}
