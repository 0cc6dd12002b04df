"""Run a command as a container's root would: Docker's default capability bounding set
and a seccomp filter refusing unshare, setns, mount, pivot_root and namespace flags to
clone (Docker's default profile refuses them without CAP_SYS_ADMIN).

    python tests/setups/container_root.py [--user UID] COMMAND [ARG...]

With --user, the command runs as that uid instead: an ordinary user on a host that
refuses user namespaces (Ubuntu's AppArmor restriction, a sysctl, a container).
"""
import errno
import os
import sys

import pyseccomp as sc

DOCKER_CAPS = ("chown", "dac_override", "fsetid", "fowner", "mknod", "net_raw", "setgid", "setuid", "setfcap",
               "setpcap", "net_bind_service", "sys_chroot", "kill", "audit_write")
NEW_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x00000080)


def main() -> None:
    refuse = sc.SyscallFilter(sc.ALLOW)
    refuse.set_attr(sc.Attr.CTL_NNP, 0)  # Docker does not set no_new_privs
    for name in ("unshare", "setns", "mount", "umount2", "pivot_root", "open_tree", "move_mount", "fsopen",
                 "fsmount", "fsconfig", "fspick", "mount_setattr"):
        refuse.add_rule(sc.ERRNO(errno.EPERM), name)
    refuse.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for flag in NEW_FLAGS:
        refuse.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    refuse.load()
    argv = sys.argv[1:]
    user = []
    if argv[:1] == ["--user"]:
        user = [f"--reuid={argv[1]}", f"--regid={argv[1]}", "--clear-groups"]
        argv = argv[2:]
    caps = "-all," + ",".join("+" + c for c in DOCKER_CAPS)
    os.execvp("setpriv", ["setpriv", *user, f"--bounding-set={caps}", "--inh-caps=-all", "--", *argv])


if __name__ == "__main__":
    main()
