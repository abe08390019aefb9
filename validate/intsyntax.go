package validate

import (
	"fmt"
	"strconv"

	"github.com/tcptune/tcptune/profiles"
)

// The kernel's integer handlers (proc_dointvec, proc_douintvec,
// proc_doulongvec_minmax, proc_dou8vec_minmax) read each field with
// proc_get_long in kernel/sysctl.c: an optional '-', then a digit is
// required (isdigit), then strtoul_lenient(p, &p, 0, ...) — base 0, so a
// leading "0x" is hexadecimal and a leading "0" octal — and a field of 21
// characters or more is refused (TMPBUFLEN 22). So "+15" is refused with
// EINVAL, "010" is stored as 8 and "0x10" as 16; both then read back as
// other text than the profile wrote, which apply would report as a failed
// read-back. tcptune refuses such fields before anything is written.

// maxIntField is the longest field proc_get_long accepts: TMPBUFLEN-2.
const maxIntField = 20

// kernelIntProblem says how the kernel would read field f differently from
// a plain decimal, or "" when it reads it as written.
func kernelIntProblem(f string) string {
	digits := f
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	switch {
	case f == "":
		return ""
	case f[0] == '+':
		return fmt.Sprintf("%q: the kernel refuses a leading '+' (it takes an optional '-' and digits); write %s", f, f[1:])
	case len(f) > maxIntField:
		return fmt.Sprintf("%q: the kernel refuses an integer field of more than %d characters", f, maxIntField)
	case len(digits) > 1 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'):
		n, err := strconv.ParseUint(digits[2:], 16, 64)
		if err != nil {
			return ""
		}
		return fmt.Sprintf("%q: the kernel reads a leading 0x as hexadecimal and prints it back as %s%d; write %s%d", f, f[:len(f)-len(digits)], n, f[:len(f)-len(digits)], n)
	case len(digits) > 1 && digits[0] == '0' && allDigits(digits):
		sign := f[:len(f)-len(digits)]
		n, err := strconv.ParseUint(digits, 8, 64)
		if err != nil {
			return fmt.Sprintf("%q: the kernel reads a leading 0 as octal, and %s is not an octal number; write it without the leading zeros", f, digits)
		}
		return fmt.Sprintf("%q: the kernel reads a leading 0 as octal and would store %s%d; write %s%d for that, or drop the leading zeros", f, sign, n, sign, n)
	}
	return ""
}

// intSyntax reports the fields of s's value that the kernel would read
// differently from decimal, with sev (an error for a catalog integer key, a
// warning for a key whose type tcptune does not know). It reports whether
// the value is free of such fields.
func (c *checker) intSyntax(s profiles.Setting, sev Severity) bool {
	ok := true
	for _, f := range s.Value.Fields() {
		if p := kernelIntProblem(f); p != "" {
			hint := "write plain decimal integers, as the kernel prints them"
			if sev == SevWarning {
				hint = "if this key takes integers, " + hint
			}
			c.add(sev, s, s.ValuePos, hint, "%s", p)
			ok = false
		}
	}
	return ok
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
