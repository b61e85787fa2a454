return { name = "helper_pkg" }
