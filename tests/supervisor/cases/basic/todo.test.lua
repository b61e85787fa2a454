todo("write the real tests")
