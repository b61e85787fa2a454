#!/usr/bin/python3
# Regenerates the msgpack seed inputs of tests/fuzz/corpus/{agent,runner_channel}
# (run from tests/fuzz/; fuzzer-found inputs live beside them, unnamed).
import msgpack, struct

def fr(o):
    b = msgpack.packb(o, use_bin_type=True)
    return struct.pack('>I', len(b)) + b

def w(d, name, data):
    open(f'corpus/{d}/{name}', 'wb').write(data)

# agent: byte 0 bit 0 = hello already done
w('agent', 'hello', b'\x00' + fr({'id': 1, 'kind': 'hello', 'data': {'protocol_version': 1}})
  + fr({'id': 2, 'kind': 'ping', 'data': {}}))
w('agent', 'hello_bad_version', b'\x00' + fr({'id': 1, 'kind': 'hello', 'data': {'protocol_version': 99}}))
w('agent', 'before_hello', b'\x00' + fr({'id': 1, 'kind': 'exec', 'data': {'cmd': 'true'}}))
w('agent', 'exec', b'\x01' + fr({'id': 3, 'kind': 'exec', 'data': {
    'cmd': 'echo', 'args': ['a', 'b'], 'timeout_ms': 1000, 'stdin': b'x', 'env': {'A': 'b'}}}))
w('agent', 'exec_nul', b'\x01' + fr({'id': 3, 'kind': 'exec', 'data': {'cmd': 'a\x00b'}}))
w('agent', 'badtypes', b'\x01' + fr({'id': 4, 'kind': 'read_file', 'data': {
    'path': 5, 'max_bytes': -1, 'shell': 'x'}}))
w('agent', 'handle', b'\x01' + fr({'id': 5, 'kind': 'wait', 'data': {'handle': 2}})
  + fr({'id': 6, 'kind': 'read', 'data': {'handle': 1, 'max_bytes': 10}})
  + fr({'id': 7, 'kind': 'close', 'data': {}}))
w('agent', 'batch', b'\x21' + fr({'id': 8, 'kind': 'batch', 'data': {'items': [
    {'kind': 'stat', 'data': {'path': '/'}}, {'kind': 'wait', 'data': {'handle': 1}},
    {'kind': 'ping'}, {'kind': 7}, {'kind': 'proc_stream', 'data': {'handle': 1}},
    {'kind': 'batch', 'data': {'items': []}}]}}))
w('agent', 'batch_bad', b'\x01' + fr({'id': 9, 'kind': 'batch', 'data': {'items': 5}})
  + fr({'id': 10, 'kind': 'batch', 'data': []}))
w('agent', 'unknown', b'\x01' + fr({'id': 11, 'kind': 'nope', 'data': None}) + fr({'kind': 'x'})
  + fr({'id': -1, 'kind': 'x'}) + fr({'id': 12}) + fr([1, 2]))
w('agent', 'write_file', b'\x01' + fr({'id': 13, 'kind': 'write_file', 'data': {
    'path': '/tmp/x', 'data': b'\x00\x01', 'mode': '0644'}}))

# runner_channel: the start frame, then answers to claim/config requests
start = {'t': 'start', 'v': 1, 'path': '/x/a.test.lua', 'display': 'a.test.lua', 'opts': {
    'vmm': 'qemu', 'accel': 'auto', 'verbose': True, 'include_slow': False, 'tag': ['a', 'b'],
    'no_tag': ['c'], 'tag_meta': [{'key': 'area', 'value': 'boot'}],
    'no_tag_meta': [{'key': 'sub', 'value': 'x'}], 'config': None}}
w('runner_channel', 'start_full', fr(start) + fr({'t': 'claim_ok', 'id': 1})
  + fr({'t': 'config_err', 'id': 2, 'message': 'no such profile'}))
w('runner_channel', 'start_min', fr({'t': 'start', 'v': 1, 'path': 'a.lua'}) + fr({'t': 'claim_err', 'id': 1}))
w('runner_channel', 'start_v2', fr({'t': 'start', 'v': 2, 'path': '/a.lua'}))
w('runner_channel', 'start_badopts', fr({'t': 'start', 'v': 1, 'path': '/a', 'opts': {
    'tag': [1], 'tag_meta': [{'key': 'a'}]}}))
w('runner_channel', 'wrong_answer', fr({'t': 'start', 'v': 1, 'path': '/a'}) + fr({'t': 'claim_ok', 'id': 9}))
w('runner_channel', 'answers', fr({'t': 'start', 'v': 1, 'path': '/'}) + fr({'t': 'claim_ok', 'id': 1})
  + fr({'t': 'config_ok', 'id': 2}) + fr({'t': 'claim_err', 'id': 3, 'message': 5}) + b'\x00\x00\x00')
