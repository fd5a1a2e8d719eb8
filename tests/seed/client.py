# The client half of the Python video chat pistream grew from, as the blog post
# gives it (its code lost its indentation there, and has prose mixed in).
# Re-indented; every edit is marked "EDIT:", and nothing else is changed, bugs included
# (one send per frame, a recv(100000000) taken for a frame only when it happens to be
# exactly one frame long, "Lost N frames" counting every recv). OpenCV is replaced by
# fakecv.py: a test pattern for the camera, a frame checker for the window.
# Run: python3 -u client.py SERVER_IP SERVER_PORT   (SEED_CLIENT_PORT: the local port)

# EDIT: the blog shows no imports; these are the ones its code uses, with fakecv for cv2.
import os
import socket
import sys
import threading

import numpy as np

import fakecv as cv  # EDIT: for `import cv2 as cv`

soc = socket.socket()
soc.bind(("", int(os.environ.get("SEED_CLIENT_PORT", "1234"))))  # EDIT: port from SEED_CLIENT_PORT (default 1234, the blog's): tests run clients side by side, and a closed connection holds its port in TIME_WAIT for a minute
server_ip = sys.argv[1]  # EDIT: for input(" Enter the Server IP adress -> ")
server_port = sys.argv[2]  # EDIT: for input("Enter the Server Port number -> ")
soc.connect((server_ip, int(server_port)))
soc.send(b"connected")
camIndex = 0
cam = cv.VideoCapture(camIndex)
# EDIT: left out the line "server: Client <- Server", a caption of the blog page, not code
def receiver():
    framesLost = 0
    print("Connection Established")
    while True:
        framesLost += 1
        data = soc.recv(100000000)
        if(data == b'finished'):
            print("Connection END")
            cam.release()
            soc.close()
        else:
            photo = np.frombuffer(data, dtype=np.uint8)
            if len(photo) == 640*480*3:
                cv.imshow('Hi I am Server', photo.reshape(480,640,3))
                if cv.waitKey(1) == 13:
                    soc.send(b'finished')
                    cam.release()
                    cv.destroyAllWindows()
                    break
            else:
                print("Lost {} frames".format(framesLost) )
def sender():
    while True:
        ret, photo = cam.read()
        photo = cv.resize(photo, (640, 480))
        print(photo.shape)
        if ret:
            soc.send(np.ndarray.tobytes(photo))
        else: print("No Frame Found")
    cam.release()  # EDIT (placement only): the blog's flattened text leaves this line's level open; inside sender(), after its endless loop, it never runs; at the top level it would release the camera before the sender's first read
threading.Thread(target=receiver).start()
threading.Thread(target=sender).start()
