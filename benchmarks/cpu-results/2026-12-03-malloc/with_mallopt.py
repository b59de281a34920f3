"""Run a script with glibc's mallopt set first: python with_mallopt.py off|TRIM SCRIPT ARGS."""

import ctypes
import runpy
import sys

libc = ctypes.CDLL("libc.so.6")
mode = sys.argv.pop(1)
if mode != "off":
    print("mallopt", libc.mallopt(-4, 0), libc.mallopt(-1, int(mode)))
runpy.run_path(sys.argv.pop(1), run_name="__main__")
