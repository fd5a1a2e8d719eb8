# The server half of the Python video chat pistream grew from, as the blog post
# gives it (its code lost its indentation there, and has prose mixed in).
# Re-indented; every edit is marked "EDIT:", and nothing else is changed, bugs included
# (one send per frame, a recv(100000000) taken for a frame only when it happens to be
# exactly one frame long, "Lost N frames" counting every recv). OpenCV is replaced by
# fakecv.py: a test pattern for the camera, a frame checker for the window.
# Run: python3 -u server.py [PORT]

# EDIT: the blog shows no imports; these are the ones its code uses, with fakecv for cv2.
import socket
import sys
import threading

import numpy as np

import fakecv as cv  # EDIT: for `import cv2 as cv`

soc = socket.socket()
soc.bind(("", int(sys.argv[1]) if len(sys.argv) > 1 else 5678))  # EDIT: port from argv (default 5678, the blog's)
soc.listen()
session, address = soc.accept()  # from anywhere  (EDIT: the blog's comment, which lost its '#')
print(session.recv(2046))
camIndex = 'http://IP-of-WebCam:8080/video'
cam = cv.VideoCapture(camIndex)
def sender():
    while True:
        ret, photo = cam.read()
        photo = cv.resize(photo, (640, 480))
        print(photo.shape)
        if ret:
            session.send(np.ndarray.tobytes(photo))
        else: print("No Frame Found")
def receiver():
    framesLost = 0
    print("Connecton Established")
    while True:
        framesLost += 1
        data = session.recv(100000000)
        if(data == b'finished'):
            print("Finished")
            cam.release()
            session.close()
        else:
            photo = np.frombuffer(data, dtype=np.uint8)
            if len(photo) == 640*480*3:
                cv.imshow('Hi I am Client', photo.reshape(480, 640, 3))
                if cv.waitKey(1) == 13:
                    session.send(b'finished')
                    cam.release()
                    cv.destroyAllWindows()
                    break
            else:
                print("Lost {} frames".format(framesLost) )
threading.Thread(target=sender).start()
threading.Thread(target=receiver).start()
