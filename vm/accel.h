/*
 * accel.h: KVM or TCG.  KVM only when a probe proves it works: on some
 * hosts /dev/kvm is a paravirtual KVM (kvm_pvm) that opens fine, runs a
 * guest ~500x slower than hardware and then crashes (qemu-facts §2).
 *
 * The decision is made once by the caller (it says it on stderr) and
 * passed to runners as PROVIUM_ACCEL=kvm|tcg; vm/qemu.c reads it and
 * decides itself only when it is unset or "auto".
 */
#ifndef PROVIUM_ACCEL_H
#define PROVIUM_ACCEL_H

enum accel_mode { ACCEL_AUTO, ACCEL_KVM, ACCEL_TCG };

/* "auto" | "kvm" | "tcg"; -1 on anything else. */
int accel_parse(const char *s, enum accel_mode *m);
const char *accel_name(enum accel_mode m);

/*
 * Resolves mode to ACCEL_KVM or ACCEL_TCG.  *why gets a malloc'd
 * one-line reason ("tcg: /dev/kvm: No such file or directory").
 * Forcing kvm fails (-1) when /dev/kvm cannot be used at all.
 */
int accel_decide(enum accel_mode mode, enum accel_mode *out, char **why);

/*
 * Cheap capability check (< 1 ms): /dev/kvm read-write, API version 12,
 * and vmx/svm in /proc/cpuinfo or a kvm_intel/kvm_amd module.
 * 0 if KVM is a candidate, else -1 with *why.
 */
int accel_kvm_capable(char **why);

/*
 * Timed micro-guest in a child process under alarm(3): 100k dec/jnz
 * iterations then hlt.  Returns 0 if it ran in under 10 ms; else -1 with
 * *why.  *ms gets the measured time (or -1 if it did not finish).
 */
int accel_kvm_probe(double *ms, char **why);

#endif
