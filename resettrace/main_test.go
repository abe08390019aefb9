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
	if os.Getenv(envHold) == "1" {
		os.Exit(hold())
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
