// placeholder: visible tests for 02
