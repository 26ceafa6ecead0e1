"""Channel plugins: each sends one kind of message (email, SMS, WeCom, WeChat OA, webhook)."""
