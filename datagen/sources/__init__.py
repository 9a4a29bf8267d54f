"""Importers of plain folders of files (`datagen import objects | backgrounds | images`), one
module each, and `pairing`: the one stem-pairing rule every importer follows."""
