from mtls_doctor.cli import main

main()
