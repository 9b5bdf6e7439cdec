"""The matching engine: image bytes in, fingerprints out, and which protected photo (if any) an
image copies. Decoding within limits (`images`), the global hash and views (`fingerprint`),
the photo inside a frame (`frame`), keypoints and their verification (`keypoints`), profile
pictures (`avatar`), and the stages in order (`matcher`). OpenCV, faiss and numpy live here
and nowhere else: a command that compares no image never imports this package.
"""
