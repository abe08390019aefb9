package resettrace

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// envHold makes the test binary a tracer that loads its programs, prints
// their ids and waits to be killed (TestKernelNothingLeftAfterKill).
const envHold = "TCPTUNE_RESETTRACE_HOLD"

func TestMain(m *testing.M) {
	switch os.Getenv(envHold) {
	case "1":
		os.Exit(hold())
	case "tracefs":
		os.Exit(holdTracefs())
	}
	os.Exit(m.Run())
}

func hold() int {
	t, err := Start(Options{})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Print("ids:")
	for _, id := range t.ProgramIDs() {
		fmt.Printf(" %d", id)
	}
	fmt.Println()
	time.Sleep(60 * time.Second) // killed long before
	t.Stop()
	return 0
}

// holdTracefs creates tcptune's tracefs instance and waits to be killed
// (TestKernelTracefsFallback sweeps what it leaves).
func holdTracefs() int {
	if roots := os.Getenv("TCPTUNE_RESETTRACE_TRACEFS_ROOT"); roots != "" {
		TracefsRoots = []string{roots}
	}
	t, err := startTracefs(Options{})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready:", t.dir)
	time.Sleep(60 * time.Second)
	t.Stop()
	return 0
}
