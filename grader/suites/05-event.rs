// placeholder: hidden suite for 05
