"""Run a command as a container's root would: Docker's default capability bounding set
and a seccomp filter refusing unshare, setns, mount, pivot_root and namespace flags to
clone (Docker's default profile refuses them without CAP_SYS_ADMIN).

    python tests/setups/container_root.py COMMAND [ARG...]
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
    caps = "-all," + ",".join("+" + c for c in DOCKER_CAPS)
    os.execvp("setpriv", ["setpriv", f"--bounding-set={caps}", "--inh-caps=-all", "--", *sys.argv[1:]])


if __name__ == "__main__":
    main()
