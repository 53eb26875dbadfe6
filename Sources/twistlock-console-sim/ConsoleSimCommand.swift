print("twistlock-console-sim")
