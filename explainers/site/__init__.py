"""The site around the sections: routes and the story page (page), building sections as the
reader nears them (lazy), and the server's configuration (serving)."""
