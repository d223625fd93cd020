// placeholder: visible tests for 01
