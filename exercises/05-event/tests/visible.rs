// placeholder: visible tests for 05
