"""The sound of a call: tone generators, a renderer and a WAV writer.

Everything here but `wav` is sans-I/O: `signals` makes PCM from numbers,
`schedule` turns a call's stamped events into timed signals per direction,
`render` lays them out as 8 kHz 16-bit mono tracks, `measure` checks tones.
`wav` is the one module that writes files.
"""
