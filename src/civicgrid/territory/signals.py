# signals set in the territory feature work
