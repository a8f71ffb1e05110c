"""The offline engine: real media from Pillow, OpenCV and FFmpeg, free and deterministic.

`image` enhances and inpaints photos; `video` turns stills into camera moves and transitions;
`audio` is the ambient bed under those clips.
"""
