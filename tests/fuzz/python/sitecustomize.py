"""Loaded by the schemathesis process (PYTHONPATH, scripts/fuzz.ts) before anything else.

CPython 3.11 before 3.11.9 can raise "SystemError: AST constructor recursion depth mismatch"
from ast.parse when it is called deep in the stack (python/cpython gh-106905). Hypothesis parses
source code only to *describe* a lambda in a strategy's repr; when that parse hits the interpreter
bug, schemathesis reported a runtime error and skipped the operation's coverage phase. Describe
the lambda as unknown instead: nothing the tests check depends on the description.
"""

try:
    from hypothesis.internal import lambda_sources as _lambda_sources
except ImportError:  # not the fuzz venv: nothing to patch
    _lambda_sources = None

if _lambda_sources is not None:
    _describe = _lambda_sources._lambda_description

    def _lambda_description(f, *args, **kwargs):
        try:
            return _describe(f, *args, **kwargs)
        except SystemError:
            return "lambda: <unknown>"

    _lambda_sources._lambda_description = _lambda_description
