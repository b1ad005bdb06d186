#!/usr/bin/env python3
"""Where a .NET process's CPU goes, from a `perf record -g` of it.

Usage: perf script -i perf.data -F ip,sym,dso | python3 bench/profile/perf-summary.py

The process must run with DOTNET_PerfMapEnabled=1 and DOTNET_EnableWriteXorExecute=0, so that perf can name JIT-compiled
methods (/tmp/perf-PID.map). Prints the share of samples by where the sampled instruction was (self: kernel, runtime,
managed code by declaring assembly, ...) and the share of samples with a given library or class anywhere on the stack
(inclusive). Inclusive shares overlap, and with async code a stack is the chain of continuations that resumed, not the
logical caller, so read them as "work running under", not as exact costs.
"""
import collections
import re
import sys

FRAME = re.compile(r'^\s*[0-9a-f]+\s+(.*?)(?: \(([^()]*(?:\([^()]*\))?[^()]*)\))?$')
# In a perf-map name "instance !0 [Assembly] Namespace.Type`1[Args]::Method(...)" the declaring assembly is the
# bracket followed by a space; assemblies inside return and generic types have no space after theirs.
DECLARED = re.compile(r'\[([^\]]+)\] (\S+)$')

INCLUSIVE = [
    ('Upflow call (System.Net.Http)', lambda asm, cls: asm == 'System.Net.Http'),
    ('PostgreSQL (Npgsql)', lambda asm, cls: asm.startswith('Npgsql')),
    ('RabbitMQ.Client (consume, publish, acks)', lambda asm, cls: asm == 'RabbitMQ.Client'),
    ('MassTransit, all', lambda asm, cls: asm.startswith('MassTransit')),
    ('MassTransit publish', lambda asm, cls: asm.startswith('MassTransit') and 'Publish' in cls),
    ('Polly and the resilience pipeline', lambda asm, cls: asm.startswith('Polly') or 'Resilience' in asm),
    ('EF Core', lambda asm, cls: 'EntityFrameworkCore' in asm),
    ('System.Text.Json', lambda asm, cls: asm == 'System.Text.Json'),
    ('logging (Serilog)', lambda asm, cls: asm.startswith('Serilog')),
    ('OpenTelemetry', lambda asm, cls: asm.startswith('OpenTelemetry')),
]


def read_samples(lines):
    sample = []
    for line in lines:
        if not line.strip():
            if sample:
                yield sample
                sample = []
            continue
        m = FRAME.match(line.rstrip('\n'))
        if m:
            sample.append((m.group(1), m.group(2) or ''))
    if sample:
        yield sample


def declared(symbol):
    method = symbol.find('::')
    if method < 0:
        return None
    m = DECLARED.search(symbol[:method])
    return (m.group(1), m.group(2)) if m else None


def where(symbol, dso):
    if 'kernel' in dso:
        return 'kernel'
    if 'libcoreclr' in dso:
        return 'runtime (libcoreclr: GC, stubs, type checks)'
    if 'libclrjit' in dso:
        return 'JIT'
    if symbol.startswith('stub '):
        return 'runtime stubs (interface dispatch, write barriers)'
    if re.search(r'/libc\.so|libc-|libpthread', dso):
        return 'libc'
    owner = declared(symbol)
    if owner:
        return 'managed: ' + owner[0]
    if 'perf-' in dso or 'memfd' in dso:
        return 'managed: stubs and unnamed'
    return 'other: ' + dso.rsplit('/', 1)[-1]


def main():
    samples = list(read_samples(sys.stdin))
    total = len(samples)
    if total == 0:
        sys.exit('no samples on stdin')
    self_time = collections.Counter(where(*sample[0]) for sample in samples)
    print(f'{total} samples\n\nself (where the instruction was):')
    for name, count in self_time.most_common():
        if count * 1000 >= total * 2:
            print(f'  {100 * count / total:5.1f} %  {name}')
    print('\ninclusive (anywhere on the stack; overlapping):')
    owners = [[o for o in (declared(symbol) for symbol, _ in sample) if o] for sample in samples]
    for name, test in INCLUSIVE:
        count = sum(1 for frames in owners if any(test(asm, cls) for asm, cls in frames))
        print(f'  {100 * count / total:5.1f} %  {name}')


if __name__ == '__main__':
    main()
