"""The `local` provider's model handling: the catalogue of installable models and their installer.

The models themselves run in `omniinfer._http.local_transport`, which answers `local://` requests
in-process with llama-cpp-python (`pip install 'omniinfer[local]'`).
"""
