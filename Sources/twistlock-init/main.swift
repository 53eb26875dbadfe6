print("twistlock-init")
