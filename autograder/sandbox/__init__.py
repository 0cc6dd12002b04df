"""The student side of the trust boundary and the grader's handle on it.

runtime.py  code that runs inside the student process (cells, units, reference proxies)
zygote.py   the process that imports numpy once and forks one student process per submission
limits.py   what the kernel enforces on a student process (rlimits, namespaces, uid, seccomp)
client.py   the grading process's side: start, feed, time and restart student processes
"""
