// placeholder: visible tests for 03
