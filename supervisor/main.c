#include <stdio.h>
int main(void){puts("provium: not yet");return 0;}
