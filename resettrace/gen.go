package resettrace

// The BPF object and its Go bindings are committed (resettrace_bpfel.go,
// resettrace_bpfel.o), so building tcptune needs no clang. `make bpf`
// regenerates them: it writes bpf/vmlinux.h from the running kernel's BTF
// (bpftool) and runs this directive.
//
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -go-package resettrace -target bpfel -type event resettrace bpf/resettrace.bpf.c -- -I./bpf -D__TARGET_ARCH_x86 -O2 -g -Wall
